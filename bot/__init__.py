"""immybot-slack: Slack chat-ops for ImmyBot."""

__version__ = "0.1.0"
