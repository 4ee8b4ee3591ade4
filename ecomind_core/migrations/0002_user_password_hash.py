"""Legacy revision 002: users.password_hash varchar NULL."""

from django.db import migrations, models


class Migration(migrations.Migration):
    # Legacy revision 002. Marked initial so that `migrate --fake-initial` (and
    # `baseline`) can recognise a database where the column already exists.
    initial = True

    dependencies = [
        ('ecomind_core', '0001_initial'),
    ]

    operations = [
        migrations.AddField(
            model_name='customeruser',
            name='password_hash',
            field=models.CharField(blank=True, editable=False, null=True),
        ),
    ]
