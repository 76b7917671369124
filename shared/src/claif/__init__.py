"""Claif 2.0: the contract between LLM provider plugins and the tools that use them.

Import what you need from the submodules (``claif.common``, ``claif.providers.base``,
``claif.host`` ...); this package itself stays empty so that importing it is free.
"""

__version__ = "2.0.0"

__all__ = ["__version__"]
