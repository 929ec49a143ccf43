"""The OpenAPI schema view: generated once per process, language, API version and format."""

from __future__ import annotations

from django.http import HttpResponse
from django.utils import translation
from drf_spectacular.views import SpectacularAPIView
from rest_framework.request import Request


class SchemaView(SpectacularAPIView):
    """The schema is generated as public (every endpoint, whoever asks), so it is the same for
    every caller the docs permission lets in; generating and rendering it took ~400 ms of CPU per
    request, and it only changes with a deploy, which starts new processes. The key is bounded:
    the active language (after ``?lang=``), an allowed API version, one of four renderers."""

    _built: dict[tuple[str, str | None, str], tuple[bytes | str, str, str]] = {}

    def _get_schema_response(self, request: Request) -> HttpResponse:
        version = self.api_version or request.version or self._get_version_parameter(request)
        renderer = request.accepted_renderer
        key = (translation.get_language(), version, type(renderer).__name__)
        built = self._built.get(key)
        if built is None:
            response = super()._get_schema_response(request)
            content = renderer.render(response.data, renderer.media_type, self.get_renderer_context())
            content_type = renderer.media_type + (f"; charset={renderer.charset}" if renderer.charset else "")
            built = self._built[key] = (content, content_type, response["Content-Disposition"])
        content, content_type, disposition = built
        return HttpResponse(content, content_type=content_type, headers={"Content-Disposition": disposition})
