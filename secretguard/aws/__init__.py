"""AWS-specific knowledge: key formats, validation against STS, migration to Secrets Manager."""
