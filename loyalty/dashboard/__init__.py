"""The admin dashboard (/admin): a session login with an admin key and the reports drawn."""
