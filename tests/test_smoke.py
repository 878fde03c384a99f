def test_settings_load(settings):
    assert settings.SECRET_KEY == "tests-only-secret-key"
