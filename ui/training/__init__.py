"""Training mode: fluoroscopy-guided needle placement exercises with scoring and history."""
