def test_openapi_document_describes_the_service(client):
    response = client.get("/openapi.json")
    assert response.status_code == 200
    spec = response.get_json()
    assert spec["openapi"].startswith("3.")
    assert spec["info"]["title"] == "loyalty"
    assert "/health" in spec["paths"]
    assert "503" in spec["paths"]["/health"]["get"]["responses"]


def test_error_schema_in_the_document_is_the_error_format(client):
    schemas = client.get("/openapi.json").get_json()["components"]["schemas"]
    error = schemas["Error"]["properties"]["error"]
    body = schemas[error["$ref"].rsplit("/", 1)[1]]
    assert set(body["properties"]) == {"code", "message", "details"}


def test_docs_page_is_html_that_loads_the_document_and_its_own_assets(client):
    response = client.get("/docs")
    assert response.status_code == 200
    assert response.content_type.startswith("text/html")
    page = response.get_data(as_text=True)
    assert "openapi.json" in page and "/docs/assets/swagger-ui-bundle.js" in page
    for asset, size in (("swagger-ui-bundle.js", 100_000), ("swagger-ui.css", 10_000)):
        with client.get(f"/docs/assets/{asset}") as served:
            assert served.status_code == 200 and len(served.data) > size
    with client.get("/docs/assets/../../etc/passwd") as escaped:
        assert escaped.status_code == 404
