import aiohttp


async def test_upstream_replays_in_order(upstream):
    upstream.reply("/x", body="one")
    upstream.reply("/x", body="two", status=503, headers={"Retry-After": "2"})
    async with aiohttp.ClientSession() as s:
        r1 = await (await s.get(upstream.url + "/x")).text()
        resp = await s.get(upstream.url + "/x")
        r2 = await resp.text()
        r3 = await (await s.get(upstream.url + "/x")).text()
    assert (r1, r2, r3) == ("one", "two", "two") and resp.status == 503 and resp.headers["Retry-After"] == "2"
    assert len(upstream.requests_to("/x")) == 3
