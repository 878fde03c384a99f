from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from .forms import LoginForm

admin.site.site_header = "Switchback administration"
admin.site.site_title = "Switchback"
admin.site.index_title = "Boards, criteria and people"

urlpatterns = [
    path("login/", auth_views.LoginView.as_view(authentication_form=LoginForm), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("flow/", include("flow.urls")),
    path("api/", include("api.urls")),
    path("profile/", include("api.profile_urls")),
    path("intake/", include("intake.urls")),
    path("help/", include("requesters.urls")),
    path("notifications/", include("notifications.urls")),
    path("", include("boards.urls")),
]

# Error pages in the app's look; htmx requests get the message in place (helpdesk/errors.py).
handler400 = "helpdesk.errors.bad_request"
handler403 = "helpdesk.errors.permission_denied"
handler404 = "helpdesk.errors.page_not_found"
handler500 = "helpdesk.errors.server_error"
