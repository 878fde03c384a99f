from django.urls import path

from . import docs, views

app_name = "api"

urlpatterns = [
    path("v1/boards/", views.BoardList.as_view(), name="boards"),
    path("v1/columns/", views.ColumnList.as_view(), name="columns"),
    path("v1/criteria/", views.CriterionList.as_view(), name="criteria"),
    path("v1/technicians/", views.TechnicianList.as_view(), name="technicians"),
    path("v1/tickets/", views.TicketList.as_view(), name="tickets"),
    path("v1/tickets/<int:pk>/", views.TicketDetail.as_view(), name="ticket"),
    path("v1/tickets/<int:pk>/moves/", views.TicketMoves.as_view(), name="ticket_moves"),
    path("v1/tickets/<int:pk>/notes/", views.TicketNotes.as_view(), name="ticket_notes"),
    path("schema/", views.SchemaView.as_view(), name="schema"),
    # A page for people, signed in through the login page like every other page.
    path("docs/", docs.docs_page, name="docs"),
]
