"""Command lines: the base provider CLIs subclass, and the umbrella ``claif`` command."""
