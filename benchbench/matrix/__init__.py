"""The deployment matrix: every runtime × precision a model can ship in, with what each costs in quality."""
