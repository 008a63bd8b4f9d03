"""GAN Playground core: torch, torchvision and numpy only (no gradio)."""
__version__ = "0.1.0"
