"""Commands and card verbs: plain async functions from (actor, input, services) to a reply."""
