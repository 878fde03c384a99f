from django.urls import path, register_converter

from routing.models import Direction

from . import views


class DirectionConverter:
    """escalate | de-escalate | transfer, so /tickets/<pk>/move/ and the rest never match it."""

    regex = "|".join(Direction.values)

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return str(value)


register_converter(DirectionConverter, "direction")

urlpatterns = [
    path("", views.home, name="home"),
    path("boards/<slug:slug>/", views.board, name="board"),
    path("boards/<slug:slug>/changes/", views.board_changes, name="board_changes"),
    path("boards/<slug:slug>/done/", views.board_done, name="board_done"),
    path("boards/<slug:slug>/tickets/", views.ticket_create, name="ticket_create"),
    path("tickets/<int:pk>/", views.ticket, name="ticket"),
    path("tickets/<int:pk>/move/", views.ticket_move, name="ticket_move"),
    path("tickets/<int:pk>/update/", views.ticket_update, name="ticket_update"),
    path("tickets/<int:pk>/notes/", views.ticket_note, name="ticket_note"),
    path("tickets/<int:pk>/resolve/", views.ticket_resolve, name="ticket_resolve"),
    path("tickets/<int:pk>/reopen/", views.ticket_reopen, name="ticket_reopen"),
    path("tickets/<int:pk>/follow/", views.ticket_follow, name="ticket_follow"),
    path("search/", views.search, name="search"),
    path("tickets/<int:pk>/<direction:direction>/", views.ticket_criteria, name="ticket_criteria"),
]
