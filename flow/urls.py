from django.urls import path

from . import views

app_name = "flow"

urlpatterns = [
    path("", views.flow_page, name="page"),
    path("map.svg", views.map_svg, name="map_svg"),
    path("arrows/<slug:kind>/<int:pk>/", views.arrow_tickets, name="arrow"),
    path("gauges/<slug:name>.csv", views.gauge_csv, name="gauge_csv"),
    path("what-if/", views.what_if, name="what_if"),
]
