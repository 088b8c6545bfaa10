"""Policy as data: profile model, loader, bundled profiles, the rules engine and meeting settings."""
