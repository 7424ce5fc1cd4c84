"""Answers: retrieved chunks as numbered, fenced sources; a token-budgeted prompt; the chat
model (or an extractive answer with none); citations parsed back to chunks."""
