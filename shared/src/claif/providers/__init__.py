"""The provider contract: the base class and the capability vocabulary."""
