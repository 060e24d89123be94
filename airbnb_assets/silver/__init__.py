"""Silver: parse and type bronze rows, apply declared expectations, quarantine what fails."""
