from django.contrib import admin

from .models import DemoProfile


@admin.register(DemoProfile)
class DemoProfileAdmin(admin.ModelAdmin):
    list_display = ("user", "nickname", "locale", "phone_number", "updated_at")
    search_fields = ("user__username", "nickname")
