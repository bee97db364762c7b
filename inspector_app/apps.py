from django.apps import AppConfig


class InspectorAppConfig(AppConfig):
    """The phone apps: the inspectors' installable, offline-first app and the teachers' roll call, both on one outbox
    in the phone's IndexedDB, both talking to /api/v1 with tokens as a native app would. Server side: the shells,
    the manifests, the service worker and one question a signed-out phone may ask (was I wiped?). The rules stay in
    the services behind the API."""

    name = "inspector_app"
    verbose_name = "手机应用"
