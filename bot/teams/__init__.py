"""The Teams transport: the only package that imports botbuilder. It turns activities into
Chaperone's own types (bot.commands.types) and replies back into activities."""
