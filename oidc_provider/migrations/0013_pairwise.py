from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("oidc_provider", "0012_client_secret_jwt")]

    operations = [
        migrations.AddField(
            model_name="client",
            name="subject_type",
            field=models.CharField(
                choices=[
                    ("public", "public: one sub for every client"),
                    ("pairwise", "pairwise: one sub per sector"),
                ],
                default="public",
                help_text=(
                    "subject_type (OpenID Connect Core 1.0 §8): pairwise gives this client a sub of its own for "
                    "each user, shared only with clients of the same sector."
                ),
                max_length=10,
                verbose_name="subject type",
            ),
        ),
        migrations.AddField(
            model_name="client",
            name="sector_identifier_uri",
            field=models.URLField(
                blank=True,
                help_text=(
                    "sector_identifier_uri (OpenID Connect Registration 1.0 §5): https; a JSON array listing every "
                    "redirect URI. Its host is the sector; required for a pairwise client with redirect URIs on "
                    "more than one host."
                ),
                max_length=2000,
                verbose_name="sector identifier URL",
            ),
        ),
    ]
