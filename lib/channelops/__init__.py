"""channelops: multi-channel e-commerce analysis toolkit."""

__version__ = "0.1.0"
