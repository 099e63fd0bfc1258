"""Domain layer: tables and pure logic. No IO, no Textual."""
