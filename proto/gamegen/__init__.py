"""gamegen: content generation for game engines, served over streaming gRPC."""

__version__ = "0.1.0"
