"""Which workflow screen serves which errand: `screen_for(context)` (the counter app's entry).

id.temporary → the temporary card; id.apply and id.cross_region → the main-card application;
id.loss_report → the loss report; id.found_card → the found card; every exit-entry and traffic
service (any category but "id") → the intake. None: the errand has no workflow (the clerk just
completes it).
"""

from __future__ import annotations

from textual.screen import Screen

from cabin.kiosk.faces.counter.workflows.context import WorkflowContext

ID_SCREENS = {
    "id.temporary": ("tempcard", "TempCardScreen"),
    "id.apply": ("application", "ApplicationScreen"),
    "id.cross_region": ("application", "ApplicationScreen"),
    "id.loss_report": ("lostfound", "LossReportScreen"),
    "id.found_card": ("lostfound", "FoundCardScreen"),
}


def screen_class(service: str, config) -> type[Screen] | None:
    import importlib

    if service in ID_SCREENS:
        module, name = ID_SCREENS[service]
        return getattr(importlib.import_module(f"{__package__}.{module}"), name)
    known = config.services.get(service)
    if known is not None and known.category != "id":
        from cabin.kiosk.faces.counter.workflows.intake import IntakeScreen

        return IntakeScreen
    return None


def screen_for(context: WorkflowContext, **options) -> Screen | None:
    """The screen for the errand being served (`context.request["service"]`), or None.
    `options` go to the screen (tests: `reader_timeout`, the temporary card's `printer`)."""
    cls = screen_class(context.request.get("service", ""), context.link.config)
    return None if cls is None else cls(context, **options)
