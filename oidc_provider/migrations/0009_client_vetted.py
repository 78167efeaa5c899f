"""``Client.vetted``: an administrator checked a client that registered itself."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("oidc_provider", "0008_admin_labels"),
    ]

    operations = [
        migrations.AddField(
            model_name="client",
            name="vetted",
            field=models.BooleanField(
                default=False,
                help_text="An administrator checked this self-registered client: its name is shown without the "
                "“not verified” marker and its redirects are followed without a page in between.",
                verbose_name="vetted",
            ),
        ),
    ]
