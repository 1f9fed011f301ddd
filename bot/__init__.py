"""Hot Papers: each arXiv mailing's hottest papers, in Discord."""

__version__ = "0.1.0"
