from django.db import migrations, models


class Migration(migrations.Migration):
    """Pre-deploy (syzygy infers it): a new table harms no running release."""

    initial = True
    dependencies = []
    operations = [
        migrations.CreateModel(
            name="Widget",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("note", models.TextField(default="")),
            ],
        ),
    ]
