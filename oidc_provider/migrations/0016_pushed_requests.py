from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("oidc_provider", "0015_request_objects")]

    operations = [
        migrations.AddField(
            model_name="client",
            name="require_pushed_authorization_requests",
            field=models.BooleanField(
                default=False,
                help_text=(
                    "require_pushed_authorization_requests (RFC 9126 §6): every authorization request must come "
                    "as a request_uri from the pushed authorization request endpoint."
                ),
                verbose_name="require pushed authorization requests",
            ),
        ),
        migrations.CreateModel(
            name="PushedRequest",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("digest", models.CharField(max_length=100, unique=True)),
                ("client_id", models.CharField(max_length=255)),
                ("parameters", models.JSONField()),
                ("expires_at", models.DateTimeField(db_index=True)),
                ("consumed", models.BooleanField(default=False)),
            ],
            options={"verbose_name": "pushed authorization request"},
        ),
    ]
