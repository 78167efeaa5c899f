from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("oidc_provider", "0016_pushed_requests")]

    operations = [
        migrations.AddField(
            model_name="client",
            name="dpop_bound_access_tokens",
            field=models.BooleanField(
                default=False,
                help_text=(
                    "dpop_bound_access_tokens (RFC 9449 §5.2): every token request of this client must carry a DPoP "
                    "proof, so all its access tokens are bound to its key."
                ),
                verbose_name="require DPoP",
            ),
        ),
    ]
