from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("oidc_provider", "0013_pairwise"),
    ]

    operations = [
        migrations.AddField(
            model_name="client",
            name="id_token_encrypted_response_alg",
            field=models.CharField(
                blank=True,
                help_text="id_token_encrypted_response_alg (OpenID Connect Registration 1.0 §2): the JWE alg the ID token is encrypted with, after it is signed, to a key of the client's JWK Set. Empty: not encrypted.",
                max_length=20,
                verbose_name="ID token encryption algorithm",
            ),
        ),
        migrations.AddField(
            model_name="client",
            name="id_token_encrypted_response_enc",
            field=models.CharField(
                blank=True,
                help_text="id_token_encrypted_response_enc (OpenID Connect Registration 1.0 §2), the JWE enc.",
                max_length=20,
                verbose_name="ID token content encryption",
            ),
        ),
        migrations.AddField(
            model_name="client",
            name="userinfo_encrypted_response_alg",
            field=models.CharField(
                blank=True,
                help_text="userinfo_encrypted_response_alg (OpenID Connect Registration 1.0 §2): the JWE alg the UserInfo response is encrypted with, to a key of the client's JWK Set. Empty: not encrypted.",
                max_length=20,
                verbose_name="UserInfo encryption algorithm",
            ),
        ),
        migrations.AddField(
            model_name="client",
            name="userinfo_encrypted_response_enc",
            field=models.CharField(
                blank=True,
                help_text="userinfo_encrypted_response_enc (OpenID Connect Registration 1.0 §2), the JWE enc.",
                max_length=20,
                verbose_name="UserInfo content encryption",
            ),
        ),
    ]
