"""The Teams transport: the only package that imports botbuilder. It turns activities into
Chaperone's own types (bot.chat) and replies back into activities."""
