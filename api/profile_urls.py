from django.urls import path

from . import profile

urlpatterns = [
    path("", profile.profile_page, name="profile"),
    path("tokens/", profile.token_create, name="profile_token_create"),
    path("tokens/<int:pk>/revoke/", profile.token_revoke, name="profile_token_revoke"),
]
