from django.urls import path

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    path("boards/<slug:slug>/", views.board, name="board"),
    path("tickets/<int:pk>/", views.ticket, name="ticket"),
]
