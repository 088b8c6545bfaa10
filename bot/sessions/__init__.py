"""Sessions: the Session model, its state machine, the repository and the register."""
