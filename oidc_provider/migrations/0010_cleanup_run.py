"""A row per completed `clearexpired` run, for the health report (`manage.py oidchealth`)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("oidc_provider", "0009_client_vetted"),
    ]

    operations = [
        migrations.CreateModel(
            name="CleanupRun",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("started_at", models.DateTimeField(verbose_name="started at")),
                ("finished_at", models.DateTimeField(db_index=True, verbose_name="finished at")),
                ("removed", models.JSONField(default=list, help_text="Rows removed, by kind.", verbose_name="removed")),
            ],
            options={
                "verbose_name": "clean-up run",
                "verbose_name_plural": "clean-up runs",
                "ordering": ["-finished_at"],
            },
        ),
    ]
