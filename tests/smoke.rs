use skygroup::{Runtime, ServiceKind, Value};

#[test]
fn echo_round_trip() {
    let rt = Runtime::threaded(2);
    rt.define(ServiceKind::stateless("echo").command("echo", |_ctx, v: Value| async move { Ok(v) })).unwrap();
    let echo = rt.spawn("echo", ()).unwrap();
    let reply = rt.block_on(move |ctx| async move {
        let mut n = 0i64;
        for i in 0..10_000i64 {
            n += i64::try_from(ctx.call(echo, "echo", i).await.unwrap()).unwrap();
        }
        n
    });
    assert_eq!(reply, (0..10_000).sum::<i64>());
}
