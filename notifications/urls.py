from django.urls import path

from . import views

app_name = "notifications"

urlpatterns = [
    path("", views.notification_list, name="list"),
    path("count/", views.bell_count, name="count"),
    path("read/", views.mark_read, name="read"),
    path("<int:pk>/read/", views.mark_one_read, name="read_one"),
]
