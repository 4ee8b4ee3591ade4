"""Answer ``/healthz`` and ``/readyz`` before anything else in the stack.

Kubernetes and ECS probe a container at its own IP over plain HTTP. Under
production settings Django would redirect that to HTTPS (``SecurityMiddleware``)
or refuse the ``Host`` (``ALLOWED_HOSTS``), so this middleware comes first in
``MIDDLEWARE`` and answers exactly these two paths, for GET and HEAD, before
either applies. Every other request, and any other method on these paths,
goes on through the stack untouched: the admin keeps both checks.
"""

from django.http import JsonResponse

from .readiness import ReadinessCheck

PROBE_METHODS = ("GET", "HEAD")


class ProbeMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self.readiness = ReadinessCheck()
        self.probes = {"/healthz": self.liveness, "/readyz": self.ready}

    def __call__(self, request):
        probe = self.probes.get(request.path_info)
        if probe is None or request.method not in PROBE_METHODS:
            return self.get_response(request)
        status, body = probe()
        response = JsonResponse(body, status=status)
        response["Cache-Control"] = "no-store"
        # Django would log every 503 as a server error, once per probe while
        # not ready; the readiness check logs each change of verdict instead.
        response._has_been_logged = True
        if request.method == "HEAD":
            response.content = b""
        return response

    @staticmethod
    def liveness():
        # Answering at all is the proof: no database, so an outage restarts nothing.
        return 200, {"status": "alive"}

    def ready(self):
        verdict = self.readiness()
        return (200 if verdict.ready else 503), verdict.body()
