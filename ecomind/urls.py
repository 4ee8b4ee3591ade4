from django.contrib import admin
from django.urls import path
from django.views.generic import RedirectView

from ecomind_core.admin.daily import DailyFootprintView

urlpatterns = [
    # Before admin.site.urls: the admin's catch-all would claim it otherwise.
    path("admin/ecomind/daily/", admin.site.admin_view(DailyFootprintView.as_view()), name="admin-daily-footprint"),
    path("admin/", admin.site.urls),
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
]
