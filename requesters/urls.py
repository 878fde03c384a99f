from django.urls import path

from . import views

urlpatterns = [
    path("", views.request_form, name="request_form"),
    path("sent/", views.request_sent, name="request_sent"),
    path("status/<str:token>/", views.status, name="request_status"),
    path("status/<str:token>/reply/", views.status_reply, name="request_reply"),
    path("status/<str:token>/solved/", views.status_solved, name="request_solved"),
    path("attachments/<int:pk>/", views.attachment, name="requester_attachment"),
    path("tickets/<int:pk>/status-link/revoke/", views.revoke_status_link, name="requester_link_revoke"),
    path("tickets/<int:pk>/status-link/new/", views.renew_status_link, name="requester_link_renew"),
]
