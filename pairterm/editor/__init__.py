"""The Textual editor: a code TextArea with multi-line ghost text from the engine."""
