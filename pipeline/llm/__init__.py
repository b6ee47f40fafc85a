"""Language-model access: model specs, backends and the resumable request engine."""
