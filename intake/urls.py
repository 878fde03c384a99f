from django.urls import path

from . import views

urlpatterns = [
    path("<str:key>/alertmanager/", views.alertmanager, name="intake_alertmanager"),
    path("<str:key>/events/", views.events, name="intake_events"),
]
