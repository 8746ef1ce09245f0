"""embedkit: build and benchmark sentence-embedding models for low-resource languages."""

__version__ = "0.1.0"
