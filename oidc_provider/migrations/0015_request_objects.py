from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("oidc_provider", "0014_encryption"),
    ]

    operations = [
        migrations.AddField(
            model_name="client",
            name="request_object_signing_alg",
            field=models.CharField(
                blank=True,
                help_text="request_object_signing_alg (OpenID Connect Registration 1.0 §2): the only algorithm its request objects may use. Empty: any asymmetric one the OP accepts (HS256/384/512 too for a client_secret_jwt client).",
                max_length=20,
                verbose_name="request object signing algorithm",
            ),
        ),
        migrations.AddField(
            model_name="client",
            name="request_uris",
            field=models.JSONField(
                blank=True,
                default=list,
                help_text="request_uris (OpenID Connect Registration 1.0 §2, RFC 9101 §5.2): the only URLs the OP fetches this client's request objects from (https).",
                verbose_name="request URIs",
            ),
        ),
    ]
