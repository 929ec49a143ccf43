"""Device endpoints and the REST API of missing-person protection."""

urlpatterns: list = []
