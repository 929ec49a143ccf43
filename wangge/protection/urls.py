"""Pages of missing-person protection."""

app_name = "protection"
urlpatterns: list = []
