"""shipdeck: deploy Docker apps to your own servers the Kamal 2 way."""

__version__ = "0.1.0"
